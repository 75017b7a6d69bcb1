/* Common given names and surnames (US census and international frequency lists), used by the
 * PERSON recognizer together with capitalisation and context. */
const FIRST = `James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
Richard Susan Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty
Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle
Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Dorothy Jason
Rebecca Edward Sharon Jeffrey Laura Ryan Cynthia Jacob Amy Gary Kathleen Nicholas Angela Eric
Shirley Jonathan Brenda Stephen Emma Larry Anna Justin Pamela Scott Nicole Brandon Samantha Benjamin
Katherine Samuel Christine Gregory Helen Alexander Debra Patrick Rachel Frank Carolyn Raymond Janet
Jack Maria Dennis Catherine Jerry Heather Tyler Diane Aaron Olivia Jose Julie Adam Joyce Nathan
Victoria Henry Ruth Zachary Virginia Douglas Lauren Peter Kelly Kyle Christina Noah Joan Ethan
Evelyn Jeremy Judith Christian Andrea Walter Hannah Keith Megan Austin Cheryl Roger Jacqueline
Terry Martha Sean Madison Gerald Teresa Carl Gloria Dylan Sara Harold Janice Jordan Ann Jesse
Kathryn Bryan Abigail Lawrence Sophia Arthur Frances Gabriel Jean Bruce Alice Logan Judy Billy
Isabella Joe Julia Alan Grace Juan Amber Elijah Denise Willie Danielle Albert Marilyn Wayne Beverly
Randy Charlotte Mason Natalie Vincent Theresa Liam Diana Roy Brittany Bobby Doris Caleb Kayla
Bradley Alexis Russell Lori Lucas Marie Oliver Alicia Sofia Mia Ava Chloe Zoe Lily Ella Leah Aria
Luis Carlos Miguel Javier Diego Alejandro Sofia Lucia Valentina Camila Mateo Santiago Sebastian
Pierre Jean Louis Camille Chloe Manon Hugo Lea Jules Clara Lukas Leon Felix Paul Maximilian Emil
Anna Lena Hannah Mila Sophie Marie Johanna Giulia Francesco Alessandro Lorenzo Matteo Chiara
Aisha Fatima Omar Ahmed Mohammed Ali Hassan Yusuf Layla Zainab Priya Ananya Rahul Arjun Rohan
Vikram Deepak Sanjay Neha Pooja Kavya Wei Li Ming Jing Yan Hiroshi Yuki Haruto Sakura Kenji Takeshi
Min-jun Ji-woo Seo-yeon Olga Ivan Dmitri Sergei Natasha Anastasia Katarzyna Piotr Tomasz Agnieszka
Lars Erik Ingrid Astrid Sven Nils Freya Oscar Elsa Chidi Ngozi Kwame Amara Tunde Femi Thabo Zanele
Connor Liam Aidan Siobhan Niamh Declan Ciaran Aoife Rhys Gareth Dafydd Bethan Morgan Owen Ewan`

const LAST = `Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez
Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green
Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz
Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan
Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood
James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher
Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno
West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall
Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb
Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon
Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills
Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant
Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott
Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins
Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Muller Schneider
Fischer Weber Becker Schulz Wagner Koch Richter Klein Wolf Schroeder Neumann Dubois Durand Lefebvre
Moreau Laurent Simon Michel Leroy Roux Bernard Rossi Russo Ferrari Esposito Bianchi Romano Colombo
Ricci Marino Greco Bruno Gallo Conti Costa Giordano Rizzo Lombardi Fernandes Pereira Oliveira Souza
Almeida Carvalho Ribeiro Kowalski Nowak Wisniewski Wojcik Ivanov Petrov Smirnov Volkov Novak
Svoboda Jansen Jensen Nielsen Hansen Larsen Andersen Johansson Karlsson Nilsson Eriksson Larsson
Singh Kumar Sharma Gupta Shah Mehta Reddy Rao Iyer Nair Khan Ahmed Hussain Rahman Ali Hassan
Wang Zhang Liu Yang Huang Zhao Zhou Wu Xu Sun Ma Zhu Hu Guo Lin Tanaka Suzuki Takahashi Watanabe
Ito Yamamoto Nakamura Kobayashi Sato Park Choi Jung Kang Cho Yoon Okafor Adeyemi Mensah Boateng
Okonkwo Abubakar Murphy OBrien Byrne Walsh Ryan Doyle McCarthy Gallagher Doherty Kennedy Lynch
Quinn Brennan Fitzgerald Hughes Jones Davies Evans Price Morgan Griffiths Lloyd Vaughan Rees`

const words = (s: string): Set<string> => new Set(s.split(/\s+/).filter(Boolean))

export const FIRST_NAMES: ReadonlySet<string> = words(FIRST)
export const LAST_NAMES: ReadonlySet<string> = words(LAST)

/** Capitalised words that follow a given name but are not surnames. */
export const NOT_SURNAME: ReadonlySet<string> = words(`Street St Avenue Ave Road Rd Lane Drive
Boulevard Bank Card Account Inc Ltd LLC Corp Company Hospital University College School Street
Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July
August September October November December The And Or But If When Then This That Please Thanks
Thank Hi Hello Dear Regards Team Support Customer Order Ticket Invoice Payment Loan Note Notes API
Server Error Warning Info Debug Update Version Release Build Street Park Square County City`)

/** Capitalised words that precede a surname but are not given names. */
export const NOT_GIVEN: ReadonlySet<string> = words(`The A An And Or But If When Then This That
Please Thanks Thank Hi Hello Hey Dear Regards Team Support Customer Client Patient Mr Mrs Ms Miss Dr
Prof Sir Madam From To Cc Re Fwd Agent Applicant Borrower Co Signed Best Kind Note Per Contact Call
Email Ask Tell Our Your My His Her Their Its New Old Mt Fort Saint St Lake Port Via At In On By For
Of With Account Bank Order Ticket Loan Card Branch Office Street Avenue`)
